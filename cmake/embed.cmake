# cmake/embed.cmake: writes OUT, a C header holding IN's bytes as the array NAME
# (NUL-terminated), so a page (the demo's chat, the admin dashboard) is
# part of the binary that serves it.
#   cmake -DIN=chat.html -DOUT=demo_chat_html.h -DNAME=demo_chat_html -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE "${OUT}.tmp" "/* generated from ${IN} by embed.cmake */\nstatic const unsigned char ${NAME}[] = {\n${body}0x00};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
