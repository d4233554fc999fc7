// Exports the contiguous KV-cache manager as libaprhost-kv-contiguous.so. Forking is not supported (no slot).
#include "contiguous_kv.hpp"

APRHOST_DECLARE_PLUGIN(KV_CACHE, aprhost::kv::ContiguousKv, "contiguous", "", "0.1.0",
                       "one linear region per sequence; fails clearly when a region is full")
