# CTest script: install the build tree into a scratch prefix, build sdk/examples/example_backend against it with
# find_package(aprhost), and run the INSTALLED `aprhost conformance --plugin <the built .so> --json` on it.
# Passes when the command exits 0, no case failed, every case of the ops the example implements PASSed and every
# case of the other ops SKIPped. Variables (all -D):
#   APRHOST_BINARY_DIR  the main build tree (must be fully built, like the packaging test's)
#   EXAMPLE_SOURCE_DIR  sdk/examples/example_backend
#   WORK_DIR            scratch directory (wiped first)
#   GENERATOR, CXX_COMPILER
cmake_minimum_required(VERSION 3.25)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "example_backend test: ${what} failed (exit ${rc})\n${out}\n${err}")
  endif()
  message(STATUS "example_backend test: ${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(example_build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# 1. Install aprhost, then build the example against the installed package only.
run_step("cmake --install into ${prefix}" ${CMAKE_COMMAND} --install "${APRHOST_BINARY_DIR}" --prefix "${prefix}")
run_step("configure example_backend with find_package(aprhost)"
  ${CMAKE_COMMAND} -S "${EXAMPLE_SOURCE_DIR}" -B "${example_build}" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}")
run_step("build example_backend" ${CMAKE_COMMAND} --build "${example_build}")
set(plugin "${example_build}/libaprhost-backend-example.so")
if(NOT EXISTS "${plugin}")
  message(FATAL_ERROR "example_backend test: ${plugin} was not built")
endif()

# 2. The installed host runs the suite on it. --plugin makes it the backend under test; the installed gguf and KV
# plugins come from <prefix>/lib/aprhost/plugins. APRHOST_PLUGIN_PATH is unset so nothing else is picked up, and the
# synthetic models go to the scratch folder.
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env --unset=APRHOST_PLUGIN_PATH
    "${prefix}/bin/aprhost" --plugin "${plugin}" conformance --json --model-dir "${WORK_DIR}/models"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(WRITE "${WORK_DIR}/conformance.json" "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "example_backend test: installed `aprhost conformance --plugin ${plugin}` exited ${rc}\n${out}\n${err}")
endif()
string(JSON backend ERROR_VARIABLE json_err GET "${out}" backend)
if(json_err)
  message(FATAL_ERROR "example_backend test: no JSON record (${json_err}):\n${out}\n${err}")
endif()
if(NOT backend STREQUAL "example")
  message(FATAL_ERROR "example_backend test: the backend under test is '${backend}', expected 'example'")
endif()
string(JSON passed GET "${out}" passed)
string(JSON failed GET "${out}" failed)
string(JSON skipped GET "${out}" skipped)
message(STATUS "example_backend test: ${passed} passed, ${failed} failed, ${skipped} skipped")
if(NOT failed EQUAL 0 OR passed LESS 1 OR skipped LESS 1)
  message(FATAL_ERROR "example_backend test: expected passes and skips and no failure:\n${out}")
endif()

# 3. Case by case: the five implemented f32 ops PASS, every other op-level case SKIPs with the example's reason.
# (Model-level cases SKIP too — the models need GET_ROWS — and only count towards `failed == 0` above.)
string(JSON n_cases LENGTH "${out}" cases)
math(EXPR last "${n_cases} - 1")
set(n_implemented 0)
set(n_refused 0)
set(wrong "")
foreach(i RANGE ${last})
  string(JSON id GET "${out}" cases ${i} id)
  string(JSON status GET "${out}" cases ${i} status)
  string(JSON detail GET "${out}" cases ${i} detail)
  if(id MATCHES "^op/(add|scale|rms_norm|swiglu)\\(" OR id MATCHES "^op/mul_mat\\(w=f32,")
    math(EXPR n_implemented "${n_implemented} + 1")
    if(NOT status STREQUAL "PASS")
      string(APPEND wrong "\n  ${id}: ${status} (expected PASS) ${detail}")
    endif()
  elseif(id STREQUAL "abi/load_use_unload")
    # Three rounds of load → f32 MUL_MAT → unload of the example through a fresh registry.
    if(NOT status STREQUAL "PASS")
      string(APPEND wrong "\n  ${id}: ${status} (expected PASS) ${detail}")
    endif()
  elseif(id MATCHES "^op/")
    math(EXPR n_refused "${n_refused} + 1")
    if(NOT status STREQUAL "SKIP" OR NOT detail MATCHES "example backend")
      string(APPEND wrong "\n  ${id}: ${status} (expected SKIP with the example's reason) ${detail}")
    endif()
  endif()
endforeach()
if(wrong)
  message(FATAL_ERROR "example_backend test: unexpected outcomes:${wrong}")
endif()
if(n_implemented LESS 20 OR n_refused LESS 20)
  message(FATAL_ERROR "example_backend test: only ${n_implemented} implemented and ${n_refused} refused op cases ran")
endif()
message(STATUS "example_backend test: ${n_implemented} op cases PASS, ${n_refused} SKIP as unsupported")
