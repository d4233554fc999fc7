# aprhost_add_plugin(<target> KIND <backend|format|kv> NAME <name> [VARIANT <v>] SOURCES ...)
# Builds libaprhost-<kind>-<name>[-<variant>].so into the plugin directory, exporting only the two entry symbols.
function(aprhost_add_plugin target)
  cmake_parse_arguments(P "" "KIND;NAME;VARIANT" "SOURCES" ${ARGN})
  set(file_name "aprhost-${P_KIND}-${P_NAME}")
  if(P_VARIANT)
    set(file_name "${file_name}-${P_VARIANT}")
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE aprhost::sdk)
  aprhost_set_warnings(${target})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "${file_name}"
    LIBRARY_OUTPUT_DIRECTORY ${APRHOST_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE
    "-Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/plugin.map" "-Wl,--exclude-libs,ALL" "-Wl,--no-undefined")
  install(TARGETS ${target} LIBRARY DESTINATION ${APRHOST_PLUGIN_INSTALL_DIR} COMPONENT plugins)
endfunction()
