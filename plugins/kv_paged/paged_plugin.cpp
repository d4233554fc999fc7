// Exports the paged KV-cache manager as libaprhost-kv-paged.so.
#include "paged_kv.hpp"

APRHOST_DECLARE_PLUGIN(KV_CACHE, aprhost::kv::PagedKv, "paged", "", "0.1.0",
                       "fixed-size blocks (PagedAttention): free list, ref counts, fork with prefix sharing")
