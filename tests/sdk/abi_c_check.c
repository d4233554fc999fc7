/* Compiles abi.h as C (the header promises C99 compatibility) and reports the sizes a C compiler gives, so the
 * layout test can compare them with C++'s. */
#include <aprhost/abi.h>

size_t aph_c_sizeof(int which);

size_t aph_c_sizeof(int which) {
    switch (which) {
    case 0: return sizeof(aph_plugin_desc);
    case 1: return sizeof(aph_backend_vtable);
    case 2: return sizeof(aph_format_vtable);
    case 3: return sizeof(aph_kv_vtable);
    case 4: return sizeof(aph_tensor);
    case 5: return sizeof(aph_node);
    case 6: return sizeof(aph_graph);
    case 7: return sizeof(aph_kv_config);
    case 8: return sizeof(aph_metadata_entry);
    case 9: return sizeof(aph_tensor_info);
    case 10: return offsetof(aph_node, name);
    case 11: return offsetof(aph_plugin_desc, vtable);
    default: return 0;
    }
}
