# stb (the image decoders; Debian's libstb-dev) as the imported target cnnkit::stb, if found. stb
# ships no CMake package, so cnnkit's build and its installed package both find the library here.
if(NOT TARGET cnnkit::stb)
  find_library(CNNKIT_STB_LIBRARY stb)
  if(CNNKIT_STB_LIBRARY)
    add_library(cnnkit::stb UNKNOWN IMPORTED)
    set_target_properties(cnnkit::stb PROPERTIES IMPORTED_LOCATION "${CNNKIT_STB_LIBRARY}")
  endif()
endif()
