# aprhost_add_plugin() for projects that build plugins against an installed aprhost (find_package(aprhost)).
# The in-tree twin is cmake/AprhostPlugin.cmake; both produce the same kind of file:
#   libaprhost-<kind>-<name>[-<variant>].so, C++ symbols hidden, only the entry symbols exported.
#
# aprhost_add_plugin(<target> KIND <backend|format|kv> NAME <name> [VARIANT <v>] SOURCES ...
#                    [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#   OUTPUT_DIRECTORY  where the .so is built (default: APRHOST_PLUGIN_OUTPUT_DIR if set, else the current binary dir)
#   NO_INSTALL        skip install(); otherwise the plugin installs into APRHOST_PLUGIN_INSTALL_DIR
#                     (default <libdir>/aprhost/plugins under the project's own install prefix; point the host at it
#                     with --plugin-dir or APRHOST_PLUGIN_PATH, or install into APRHOST_INSTALLED_PLUGIN_DIR).
include_guard(GLOBAL)
include(GNUInstallDirs)

set(_APRHOST_HELPERS_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(aprhost_add_plugin target)
  cmake_parse_arguments(P "NO_INSTALL" "KIND;NAME;VARIANT;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT P_KIND MATCHES "^(backend|format|kv)$")
    message(FATAL_ERROR "aprhost_add_plugin(${target}): KIND must be backend, format or kv (got '${P_KIND}')")
  endif()
  if(NOT P_NAME)
    message(FATAL_ERROR "aprhost_add_plugin(${target}): NAME is required")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "aprhost_add_plugin(${target}): SOURCES is required")
  endif()
  set(file_name "aprhost-${P_KIND}-${P_NAME}")
  if(P_VARIANT)
    set(file_name "${file_name}-${P_VARIANT}")
  endif()
  if(P_OUTPUT_DIRECTORY)
    set(out_dir "${P_OUTPUT_DIRECTORY}")
  elseif(APRHOST_PLUGIN_OUTPUT_DIR)
    set(out_dir "${APRHOST_PLUGIN_OUTPUT_DIR}")
  else()
    set(out_dir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()

  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE aprhost::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "${file_name}"
    LIBRARY_OUTPUT_DIRECTORY "${out_dir}"
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # The version script keeps everything but aprhost_plugin_entry / aprhost_plugin_score local; static libraries
  # linked in stay private too, and an unresolved symbol fails the link instead of the host's dlopen.
  target_link_options(${target} PRIVATE
    "-Wl,--version-script=${_APRHOST_HELPERS_DIR}/plugin.map" "-Wl,--exclude-libs,ALL" "-Wl,--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_APRHOST_HELPERS_DIR}/plugin.map")

  if(NOT P_NO_INSTALL)
    if(NOT APRHOST_PLUGIN_INSTALL_DIR)
      set(APRHOST_PLUGIN_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/aprhost/plugins")
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION "${APRHOST_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
