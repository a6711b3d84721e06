# CMake package for dmsched: find_package(dmsched REQUIRED) then link
# dmsched::dmsched (static) or dmsched::shared.
get_filename_component(_dmsched_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(dmsched_VERSION "0.1.0")
# The variant installed: DMS_NO_AGENT for the hand-off library.
include("${CMAKE_CURRENT_LIST_DIR}/dmschedVariant.cmake" OPTIONAL)

if(NOT TARGET dmsched::dmsched)
  add_library(dmsched::dmsched STATIC IMPORTED)
  set_target_properties(dmsched::dmsched PROPERTIES
    IMPORTED_LOCATION "${_dmsched_prefix}/lib/libdmsched.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_dmsched_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS "${dmsched_COMPILE_DEFINITIONS}"
    INTERFACE_LINK_LIBRARIES "pthread;dl;m")
endif()

if(NOT TARGET dmsched::shared)
  add_library(dmsched::shared SHARED IMPORTED)
  set_target_properties(dmsched::shared PROPERTIES
    IMPORTED_LOCATION "${_dmsched_prefix}/lib/libdmsched.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_dmsched_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS "${dmsched_COMPILE_DEFINITIONS}")
endif()

unset(_dmsched_prefix)
