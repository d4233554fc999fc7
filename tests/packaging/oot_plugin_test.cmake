# CTest script: install the build tree into a scratch prefix, build tests/packaging/oot_plugin against it with
# find_package(aprhost), and load the resulting plugin. Variables (all -D):
#   APRHOST_BINARY_DIR  the main build tree (must be fully built)
#   OOT_SOURCE_DIR      tests/packaging/oot_plugin
#   WORK_DIR            scratch directory (wiped first)
#   GENERATOR, CXX_COMPILER, LOADER (oot_plugin_loader), NM (may be empty), EXPECT_CLI (1 when the aprhost
#   executable is part of the build: then the installed `aprhost plugins` must list the out-of-tree plugin)
cmake_minimum_required(VERSION 3.25)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging test: ${what} failed (exit ${rc})\n${out}\n${err}")
  endif()
  message(STATUS "packaging test: ${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(oot_build "${WORK_DIR}/oot-build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# 1. Install what a user gets from `cmake --install`.
run_step("cmake --install into ${prefix}" ${CMAKE_COMMAND} --install "${APRHOST_BINARY_DIR}" --prefix "${prefix}")

file(GLOB config_file "${prefix}/lib*/cmake/aprhost/aprhostConfig.cmake")
set(expected
  "${prefix}/include/aprhost/abi.h"
  "${prefix}/include/aprhost/plugin.hpp"
  "${prefix}/include/aprhost/core/dtype.hpp")
if(EXPECT_CLI)
  list(APPEND expected "${prefix}/bin/aprhost")
endif()
foreach(f IN LISTS expected)
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "packaging test: the install tree lacks ${f}")
  endif()
endforeach()
if(NOT config_file)
  message(FATAL_ERROR "packaging test: no lib*/cmake/aprhost/aprhostConfig.cmake under ${prefix}")
endif()
file(GLOB core_lib "${prefix}/lib*/libaprhost-core.so")
file(GLOB kv_plugin "${prefix}/lib*/aprhost/plugins/libaprhost-kv-contiguous.so")
if(NOT core_lib OR NOT kv_plugin)
  message(FATAL_ERROR "packaging test: the install tree lacks libaprhost-core.so or lib/aprhost/plugins/")
endif()

# 2. Configure and build the third-party project against the installed package only.
run_step("configure oot_plugin with find_package(aprhost)"
  ${CMAKE_COMMAND} -S "${OOT_SOURCE_DIR}" -B "${oot_build}" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/oot-prefix")
run_step("build oot_plugin" ${CMAKE_COMMAND} --build "${oot_build}")
run_step("install oot_plugin" ${CMAKE_COMMAND} --install "${oot_build}")

set(plugin "${oot_build}/libaprhost-kv-oot_ring.so")
if(NOT EXISTS "${plugin}")
  message(FATAL_ERROR "packaging test: ${plugin} was not built (OUTPUT_NAME libaprhost-<kind>-<name>)")
endif()
file(GLOB installed_plugin "${WORK_DIR}/oot-prefix/lib*/aprhost/plugins/libaprhost-kv-oot_ring.so")
if(NOT installed_plugin)
  message(FATAL_ERROR "packaging test: aprhost_add_plugin() did not install into <prefix>/lib/aprhost/plugins")
endif()

# 3. Only the entry symbols may be exported (hidden visibility + version script).
if(NM)
  run_step("nm -D ${plugin}" "${NM}" -D --defined-only "${plugin}")
  string(REGEX MATCHALL "[^\n]+" lines "${step_output}")
  set(exported "")
  foreach(line IN LISTS lines)
    if(line MATCHES " [TDBRVWi] ([^ ]+)$")
      list(APPEND exported "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  list(SORT exported)
  if(NOT exported STREQUAL "aprhost_plugin_entry;aprhost_plugin_score")
    message(FATAL_ERROR "packaging test: the plugin exports [${exported}], expected only the two entry symbols")
  endif()
endif()

# 4. Load it like the host does and drive its vtable; then run the program linked to the installed core.
run_step("load ${plugin}" "${LOADER}" "${plugin}" kv oot_ring)
message(STATUS "${step_output}")
run_step("run oot_core_probe" "${oot_build}/oot_core_probe")
message(STATUS "${step_output}")

# 5. The installed host accepts it: `aprhost --plugin FILE plugins --json` lists the plugin as loaded.
if(EXPECT_CLI)
  run_step("installed aprhost --plugin ${plugin} plugins --json"
    "${prefix}/bin/aprhost" --plugin "${plugin}" plugins --json)
  # Find the entry named oot_ring and check the host accepted it (status other than rejected).
  string(JSON n_plugins ERROR_VARIABLE json_err LENGTH "${step_output}" plugins)
  if(json_err)
    message(FATAL_ERROR "packaging test: `aprhost plugins --json` printed no plugins array (${json_err}):\n${step_output}")
  endif()
  set(oot_status "")
  math(EXPR last "${n_plugins} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${step_output}" plugins ${i} name)
    if(name STREQUAL "oot_ring")
      string(JSON oot_status GET "${step_output}" plugins ${i} status)
    endif()
  endforeach()
  if(oot_status STREQUAL "" OR oot_status MATCHES "reject")
    message(FATAL_ERROR "packaging test: `aprhost plugins` lists oot_ring as '${oot_status}':\n${step_output}")
  endif()
  message(STATUS "installed aprhost lists oot_ring: ${oot_status}")
endif()
