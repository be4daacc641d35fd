# roster_add_module(<name> SOURCES <files...> PKG <pkg-config modules...>
#                   LIB <link names...> [FIND <lib>:<header>...]
#                   [INSTALL <packages>] [REQUIRES <modules...>]
#                   DESCRIPTION <text>)
#
# Builds a module the way src/CMakeLists.txt builds the core: one object
# library, compiled once, made into roster_<name> (shared, linking the
# shared core) and roster_<name>_static (archive libroster_<name>.a,
# linking the static core); installs both into the rosterTargets export
# set (so find_package(roster) gives roster::roster_<name>) and writes
# roster_<name>.pc, which requires roster and names the foreign library
# for static links. PKG is looked up with pkg-config and is required: when
# it is missing, the configure stops naming it, the packages to install
# (INSTALL, e.g. libpq-dev) and -DROSTER_WITH_<NAME>=OFF, the option that
# builds without the module (cmake/RosterPkg.cmake). FIND names libraries
# that ship no .pc file (libhttp-parser, libwslay): each <lib>:<header>
# is found with find_library and find_path, required the same way, linked
# privately, and named in the .pc file's Libs.private. REQUIRES names
# roster modules this one is built on (httpd): linked publicly (shared to
# shared, static to static) and required by the .pc file.
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/RosterPkg.cmake)

function(roster_add_module name)
  cmake_parse_arguments(M "" "DESCRIPTION;INSTALL"
                        "SOURCES;PKG;LIB;FIND;REQUIRES"
                        ${ARGN})
  string(TOUPPER "${name}" _up)
  roster_pkg_require(ROSTER_${_up}_DEP ${M_PKG} OPTION ROSTER_WITH_${_up}
                     FOR "roster_${name}, ${M_DESCRIPTION}"
                     INSTALL "${M_INSTALL}")
  set(_found_libs "")
  set(_found_incs "")
  set(_libs_private "")
  foreach(_f ${M_FIND})
    string(REPLACE ":" ";" _parts "${_f}")
    list(GET _parts 0 _lib)
    list(GET _parts 1 _hdr)
    find_library(ROSTER_${_up}_${_lib}_LIBRARY NAMES ${_lib})
    find_path(ROSTER_${_up}_${_lib}_INCLUDE NAMES ${_hdr})
    if(NOT ROSTER_${_up}_${_lib}_LIBRARY OR NOT ROSTER_${_up}_${_lib}_INCLUDE)
      message(FATAL_ERROR "found no library ${_lib} with its header ${_hdr} "
              "(needed by roster_${name}, ${M_DESCRIPTION}): install "
              "${M_INSTALL} (Debian, Ubuntu), or add its directories to "
              "CMAKE_PREFIX_PATH; or configure with -DROSTER_WITH_${_up}=OFF "
              "to build without it.")
    endif()
    list(APPEND _found_libs ${ROSTER_${_up}_${_lib}_LIBRARY})
    list(APPEND _found_incs ${ROSTER_${_up}_${_lib}_INCLUDE})
    string(APPEND _libs_private " -l${_lib}")
  endforeach()
  set(_obj roster_${name}_obj)
  add_library(${_obj} OBJECT ${M_SOURCES})
  set_target_properties(${_obj} PROPERTIES POSITION_INDEPENDENT_CODE ON
                                           C_VISIBILITY_PRESET hidden)
  target_include_directories(${_obj}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src ${ROSTER_${_up}_DEP_INCLUDE_DIRS}
            ${_found_incs})
  target_compile_definitions(${_obj} PRIVATE _GNU_SOURCE)

  add_library(roster_${name} SHARED $<TARGET_OBJECTS:${_obj}>)
  add_library(roster_${name}_static STATIC $<TARGET_OBJECTS:${_obj}>)
  set_target_properties(roster_${name}_static PROPERTIES
                        OUTPUT_NAME roster_${name})
  set_target_properties(roster_${name} PROPERTIES
                        VERSION ${PROJECT_VERSION}
                        SOVERSION ${PROJECT_VERSION_MAJOR})
  foreach(t roster_${name} roster_${name}_static)
    target_include_directories(${t} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endforeach()
  target_link_directories(roster_${name} PRIVATE
                          ${ROSTER_${_up}_DEP_LIBRARY_DIRS})
  target_link_libraries(roster_${name} PUBLIC roster
                        PRIVATE ${ROSTER_${_up}_DEP_LIBRARIES} ${_found_libs})
  target_link_libraries(roster_${name}_static PUBLIC roster_static)
  set(_pc_roster_requires "roster")
  foreach(_m ${M_REQUIRES})
    if(NOT TARGET roster_${_m})
      string(TOUPPER "${_m}" _mup)
      message(FATAL_ERROR "roster_${name} needs roster_${_m}: configure with "
              "-DROSTER_WITH_${_mup}=ON, or -DROSTER_WITH_${_up}=OFF")
    endif()
    target_link_libraries(roster_${name} PUBLIC roster_${_m})
    target_link_libraries(roster_${name}_static PUBLIC roster_${_m}_static)
    string(APPEND _pc_roster_requires " roster_${_m}")
  endforeach()
  foreach(_lib ${M_LIB})
    target_link_libraries(roster_${name}_static INTERFACE $<LINK_ONLY:${_lib}>)
  endforeach()
  add_library(roster::roster_${name} ALIAS roster_${name})
  add_library(roster::roster_${name}_static ALIAS roster_${name}_static)

  install(TARGETS roster_${name} roster_${name}_static EXPORT rosterTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

  # The .pc file finds its prefix from its own location, as roster.pc does.
  set(_pcdir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(_prefix "${CMAKE_INSTALL_PREFIX}")
  else()
    string(REGEX REPLACE "[^/]+" ".." _up_path "${_pcdir}")
    set(_prefix "\${pcfiledir}/${_up_path}")
  endif()
  foreach(_d LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
      set(_pc_${_d} "${CMAKE_INSTALL_${_d}}")
    else()
      set(_pc_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
    endif()
  endforeach()
  string(REPLACE ";" " " _pc_requires "${M_PKG}")
  if(_libs_private)
    set(_libs_private "\nLibs.private:${_libs_private}")
  endif()
  set(_pc "prefix=${_prefix}
exec_prefix=\${prefix}
libdir=${_pc_LIBDIR}
includedir=${_pc_INCLUDEDIR}

Name: roster_${name}
Description: ${M_DESCRIPTION}
Version: ${PROJECT_VERSION}
Requires: ${_pc_roster_requires}
Requires.private: ${_pc_requires}
Libs: -L\${libdir} -lroster_${name}${_libs_private}
Cflags: -I\${includedir}
")
  file(GENERATE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/roster_${name}.pc"
       CONTENT "${_pc}")
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/roster_${name}.pc"
          DESTINATION ${_pcdir})
endfunction()
