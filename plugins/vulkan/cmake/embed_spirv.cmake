# cmake -DSPV=x.spv -DOUT=spirv_x.cpp -DIDENT=x -P embed_spirv.cmake
# Writes the SPIR-V words of SPV as a C++ array aprhost::vk::spirv::<IDENT>_words (little-endian uint32).
file(READ ${SPV} _hex HEX)
string(LENGTH "${_hex}" _len)
math(EXPR _bytes "${_len} / 2")
math(EXPR _rem "${_bytes} % 4")
if(NOT _rem EQUAL 0 OR _bytes EQUAL 0)
  message(FATAL_ERROR "${SPV}: ${_bytes} bytes is not a SPIR-V module")
endif()
math(EXPR _words "${_bytes} / 4")
# Each 8 hex digits are one word, stored little-endian: bytes b0 b1 b2 b3 → 0xb3b2b1b0.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," _body "${_hex}")
string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n" _body "${_body}")
file(WRITE ${OUT} "// Generated from ${SPV}; do not edit.
#include <cstddef>
#include <cstdint>
namespace aprhost::vk::spirv {
extern const uint32_t ${IDENT}_words[];
extern const size_t ${IDENT}_n_words;
alignas(4) const uint32_t ${IDENT}_words[] = {
${_body}
};
const size_t ${IDENT}_n_words = ${_words};
}  // namespace aprhost::vk::spirv
")
