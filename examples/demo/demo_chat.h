/*
 * demo_chat.h: the demo's realtime chat (demo_chat.c), built when the
 * Socket.IO module is (DEMO_HAVE_SOCKETIO).
 */
#ifndef ROSTER_DEMO_CHAT_H
#define ROSTER_DEMO_CHAT_H

#include "roster.h"

/* chat_provide declares the "chat" service (a Socket.IO server with its
 * page) on db, cache, log and jobs; chat.host and chat.port come from cfg,
 * which must outlive svc's services. */
int chat_provide(roster *svc, roster_config *cfg);

#endif
