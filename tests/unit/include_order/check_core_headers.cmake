# cmake -DCORE_DIR=extension/core -P check_core_headers.cmake
# Fails unless every core header's first preprocessor line is
# #include "cpp_only.hpp" (before its include guard), so the PostgreSQL
# check runs at every inclusion of every core header.
file(GLOB headers "${CORE_DIR}/*.hpp")
set(bad "")
foreach(header IN LISTS headers)
  get_filename_component(name "${header}" NAME)
  if(name STREQUAL "cpp_only.hpp")
    continue()
  endif()
  file(STRINGS "${header}" directives REGEX "^[ \t]*#")
  list(GET directives 0 first)
  if(NOT first MATCHES "^#include \"cpp_only.hpp\"")
    list(APPEND bad "${name}")
  endif()
endforeach()
list(LENGTH headers count)
if(bad)
  message(FATAL_ERROR "core headers whose first directive is not #include \"cpp_only.hpp\": ${bad}")
endif()
message(STATUS "${count} core headers checked")
