// Exports the streaming KV-cache manager as libaprhost-kv-streaming.so. Forking is not supported (no slot).
#include "streaming_kv.hpp"

APRHOST_DECLARE_PLUGIN(KV_CACHE, aprhost::kv::StreamingKv, "streaming", "", "0.1.0",
                       "StreamingLLM: attention sinks + sliding window; never full, evicts the oldest window entry")
