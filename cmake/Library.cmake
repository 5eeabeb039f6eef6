# Library.cmake: the installed library, libclmnist.so (versioned SONAME, only clmnist_* exported)
# and libclmnist.a, each holding every object of the layers from core to api (CMakeLists.txt); the
# public header; pkg-config's clmnist.pc; the CMake package clmnist::clmnist. Included by the top
# CMakeLists.txt once those targets exist.

set(CLMNIST_LIB_OBJECTS "")
foreach(layer core dist backend backend_host backend_device backends nn io infer train serve diag api)
  list(APPEND CLMNIST_LIB_OBJECTS $<TARGET_OBJECTS:clmnist_${layer}>)
endforeach()

# Before 1.0 a minor release may change the ABI: the SONAME carries major.minor (libclmnist.so.0.1).
add_library(clmnist_shared SHARED ${CLMNIST_LIB_OBJECTS})
set_target_properties(clmnist_shared PROPERTIES OUTPUT_NAME clmnist EXPORT_NAME clmnist VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
# The internal archives bring their external libraries (OpenCL, CLBlast, OpenBLAS, ...): every
# symbol of theirs is already defined by the objects above, so no archive member is linked twice.
target_link_libraries(clmnist_shared PRIVATE clmnist_api)
target_link_options(clmnist_shared PRIVATE -Wl,--no-undefined)
target_include_directories(clmnist_shared INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# A sanitized build's library (CLMNIST_SANITIZE) calls the sanitizers' runtime: a program that uses
# it links that runtime too, and -fsanitize at link time loads it first, as ASan wants.
set(CLMNIST_USER_FLAGS "")
if(CLMNIST_SANITIZE)
  set(CLMNIST_USER_FLAGS -fsanitize=address,undefined)
  target_link_options(clmnist_shared INTERFACE ${CLMNIST_USER_FLAGS})
endif()

# The static library's users link its dependencies themselves: found here through pkg-config (the
# same modules clmnist.pc requires), plus OpenMP, threads, libm and MPI when the build has them.
set(CLMNIST_PC_REQUIRES OpenCL clblast libcjson libpng libjpeg libcrypto zlib openblas stb)
if(CLMNIST_WITH_ONNX)
  list(APPEND CLMNIST_PC_REQUIRES libprotobuf-c) # ONNX export and import
endif()
pkg_check_modules(CLMNIST_PC_DEPS REQUIRED QUIET ${CLMNIST_PC_REQUIRES})
# libmicrohttpd (the training dashboard) by name, not through its pkg-config module: that module's
# --static flags name GnuTLS's own dependencies (-lunistring, ...), which need -dev packages that
# nothing else requires; -lmicrohttpd links its shared library, which brings them itself.
set(CLMNIST_PRIVATE_FLAGS -pthread -lm -lmicrohttpd)
if(OpenMP_C_FOUND)
  list(APPEND CLMNIST_PRIVATE_FLAGS ${OpenMP_C_FLAGS})
endif()
if(CLMNIST_WITH_MPI)
  list(APPEND CLMNIST_PRIVATE_FLAGS ${MPI_C_LIBRARIES})
endif()
add_library(clmnist_static STATIC ${CLMNIST_LIB_OBJECTS})
set_target_properties(clmnist_static PROPERTIES OUTPUT_NAME clmnist EXPORT_NAME clmnist_static)
target_include_directories(clmnist_static INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(clmnist_static INTERFACE ${CLMNIST_PC_DEPS_LINK_LIBRARIES} ${CLMNIST_PRIVATE_FLAGS})
if(CLMNIST_SANITIZE)
  target_link_options(clmnist_static INTERFACE ${CLMNIST_USER_FLAGS})
endif()

install(TARGETS clmnist_shared clmnist_static EXPORT clmnistTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/clmnist/clmnist.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/clmnist)

# pkg-config: the prefix relative to the .pc file, so that any --prefix works.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CLMNIST_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH CLMNIST_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  set(CLMNIST_PC_PREFIX "\${pcfiledir}/${CLMNIST_PC_UP}")
endif()
string(REPLACE ";" " " CLMNIST_PC_REQUIRES_TEXT "${CLMNIST_PC_REQUIRES}")
string(REPLACE ";" " " CLMNIST_PC_LIBS_PRIVATE "${CLMNIST_PRIVATE_FLAGS}")
string(REPLACE ";" " " CLMNIST_PC_LIBS_USER "${CLMNIST_USER_FLAGS}")
configure_file(cmake/clmnist.pc.in ${CMAKE_CURRENT_BINARY_DIR}/clmnist.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/clmnist.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake: find_package(clmnist) gives clmnist::clmnist (shared) and clmnist::clmnist_static.
include(CMakePackageConfigHelpers)
set(CLMNIST_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/clmnist)
install(EXPORT clmnistTargets NAMESPACE clmnist:: DESTINATION ${CLMNIST_CMAKE_DIR})
configure_package_config_file(cmake/clmnistConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/clmnistConfig.cmake
                              INSTALL_DESTINATION ${CLMNIST_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/clmnistConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/clmnistConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/clmnistConfigVersion.cmake
        DESTINATION ${CLMNIST_CMAKE_DIR})
