# Installs the CMake package that lets an out-of-tree project write
#   find_package(aprhost 0.1 REQUIRED)
#   aprhost_add_plugin(my_kv KIND kv NAME mine SOURCES mine.cpp)
# and get aprhost::sdk (headers), aprhost::core (the host library) and the plugin helper.
# Included last by the top-level CMakeLists.txt, after every exported target exists.
include(CMakePackageConfigHelpers)

set(APRHOST_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/aprhost)

install(EXPORT aprhostTargets
  NAMESPACE aprhost::
  FILE aprhostTargets.cmake
  DESTINATION ${APRHOST_CMAKE_INSTALL_DIR}
  COMPONENT sdk)

# Paths handed to the config file; PATH_VARS turns them into prefix-relative paths so the prefix can move.
set(APRHOST_PACKAGE_PLUGIN_DIR ${APRHOST_PLUGIN_INSTALL_DIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/aprhostConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/aprhostConfig.cmake
  INSTALL_DESTINATION ${APRHOST_CMAKE_INSTALL_DIR}
  PATH_VARS APRHOST_PACKAGE_PLUGIN_DIR)

# 0.x releases break the ABI between minors, so 0.1 accepts 0.1.* only (SameMinorVersion); 1.x will use SameMajor.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/package/aprhostConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(FILES
  ${PROJECT_BINARY_DIR}/package/aprhostConfig.cmake
  ${PROJECT_BINARY_DIR}/package/aprhostConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/aprhostPluginHelpers.cmake
  ${PROJECT_SOURCE_DIR}/cmake/plugin.map
  DESTINATION ${APRHOST_CMAKE_INSTALL_DIR}
  COMPONENT sdk)
