// Registry options that load exactly the plugins of this build tree (no environment, no install dir), so tests
// never pick up an installed or foreign copy.
#pragma once

#include <aprhost/core/plugin_registry.hpp>

namespace aprhost::test {

inline core::RegistryOptions build_tree_plugins() {
    core::RegistryOptions o;
    o.plugin_dirs = {APRHOST_PLUGIN_DIR};
    o.use_environment = false;
    o.use_default_dirs = false;
    return o;
}

}  // namespace aprhost::test
