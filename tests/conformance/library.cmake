# The conformance cases as a static library, linked by the `aprhost` CLI (cli/CMakeLists.txt includes this file,
# so `aprhost conformance` exists even with BUILD_TESTING off) and by the Catch2 target in this directory.
if(NOT TARGET aprhost_conformance)
  add_library(aprhost_conformance STATIC
    ${CMAKE_CURRENT_LIST_DIR}/conformance.cpp
    ${CMAKE_CURRENT_LIST_DIR}/op_graph.cpp
    ${CMAKE_CURRENT_LIST_DIR}/op_cases.cpp
    ${CMAKE_CURRENT_LIST_DIR}/model_cases.cpp
    ${CMAKE_CURRENT_LIST_DIR}/abi_cases.cpp)
  # tests/common: the shared random test data (test_random.hpp, used by op_graph.hpp).
  target_include_directories(aprhost_conformance PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/../common)
  target_link_libraries(aprhost_conformance PUBLIC aprhost::core aprhost::sdk
                        PRIVATE fmt::fmt nlohmann_json::nlohmann_json)
  # Where the broken fixture plugins land when tests/conformance is built (used when present).
  target_compile_definitions(aprhost_conformance PRIVATE
    APRHOST_CONFORMANCE_FIXTURE_DIR="${PROJECT_BINARY_DIR}/conformance-fixtures")
  aprhost_set_warnings(aprhost_conformance)
endif()
