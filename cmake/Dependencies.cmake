# Finds every dependency the standard CMake way and stops with the Debian package to install.
find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config (or run scripts/bootstrap)")
endif()

find_package(OpenCL QUIET)
if(NOT OpenCL_FOUND)
  message(FATAL_ERROR "OpenCL not found: apt-get install ocl-icd-opencl-dev opencl-c-headers (or run scripts/bootstrap)")
endif()

find_package(CLBlast QUIET CONFIG)
if(NOT CLBlast_FOUND)
  message(FATAL_ERROR "CLBlast not found: apt-get install libclblast-dev (or run scripts/bootstrap)")
endif()

find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  message(FATAL_ERROR "zlib not found: apt-get install zlib1g-dev (or run scripts/bootstrap)")
endif()

# Decoding users' images, which may be hostile: libpng and libjpeg-turbo (stb_image is not meant
# for untrusted input; stb stays for resampling and for writing report PNGs).
find_package(PNG QUIET)
if(NOT PNG_FOUND)
  message(FATAL_ERROR "libpng not found: apt-get install libpng-dev (or run scripts/bootstrap)")
endif()

find_package(JPEG QUIET)
if(NOT JPEG_FOUND)
  message(FATAL_ERROR "libjpeg not found: apt-get install libjpeg62-turbo-dev (or run scripts/bootstrap)")
endif()

pkg_check_modules(STB QUIET IMPORTED_TARGET stb)
if(NOT STB_FOUND)
  message(FATAL_ERROR "stb not found: apt-get install libstb-dev (or run scripts/bootstrap)")
endif()

find_package(cJSON QUIET CONFIG)
if(NOT cJSON_FOUND)
  message(FATAL_ERROR "cJSON not found: apt-get install libcjson-dev (or run scripts/bootstrap)")
endif()

find_package(OpenSSL QUIET COMPONENTS Crypto)
if(NOT OpenSSL_FOUND)
  message(FATAL_ERROR "OpenSSL libcrypto (SHA-256, base64) not found: apt-get install libssl-dev (or run scripts/bootstrap)")
endif()

# clmnist serve: the HTTP server (its own thread pool, connection limit and timeouts).
pkg_check_modules(MHD QUIET IMPORTED_TARGET libmicrohttpd)
if(NOT MHD_FOUND)
  message(FATAL_ERROR "libmicrohttpd not found: apt-get install libmicrohttpd-dev (or run scripts/bootstrap)")
endif()

# The host backend's GEMM. Debian installs OpenBLASConfig.cmake with libopenblas-dev.
find_package(OpenBLAS QUIET CONFIG)
if(NOT OpenBLAS_FOUND)
  message(FATAL_ERROR "OpenBLAS not found: apt-get install libopenblas-dev (or run scripts/bootstrap)")
endif()

if(CLMNIST_TESTS)
  find_package(cmocka QUIET CONFIG)
  if(NOT cmocka_FOUND)
    message(FATAL_ERROR "cmocka not found: apt-get install libcmocka-dev (or run scripts/bootstrap), "
                        "or configure with -DCLMNIST_TESTS=OFF")
  endif()
endif()

find_package(OpenMP QUIET COMPONENTS C)
find_package(Threads REQUIRED)

# ONNX export and import (host/io/onnx_*.c, optional): the C code for onnx.proto is generated at
# build time by protoc-c from the onnx.proto that libonnx-dev installs, and links libprotobuf-c.
# -DCLMNIST_ONNX=OFF leaves it out; ON (the default) builds it when all three are found and says
# which packages are missing otherwise (the `export` command and .onnx models then say so too).
option(CLMNIST_ONNX "ONNX export and import (protobuf-c-compiler, libprotobuf-c-dev, libonnx-dev)" ON)
set(CLMNIST_WITH_ONNX OFF)
set(CLMNIST_ONNX_MISSING "")
if(CLMNIST_ONNX)
  find_program(PROTOC_C_EXECUTABLE protoc-c)
  if(NOT PROTOC_C_EXECUTABLE)
    list(APPEND CLMNIST_ONNX_MISSING protobuf-c-compiler)
  endif()
  pkg_check_modules(PROTOBUF_C QUIET IMPORTED_TARGET libprotobuf-c)
  if(NOT PROTOBUF_C_FOUND)
    list(APPEND CLMNIST_ONNX_MISSING libprotobuf-c-dev)
  endif()
  find_file(ONNX_PROTO_FILE onnx/onnx.proto PATHS /usr/include /usr/local/include)
  if(NOT ONNX_PROTO_FILE)
    list(APPEND CLMNIST_ONNX_MISSING libonnx-dev)
  endif()
  if(CLMNIST_ONNX_MISSING)
    string(REPLACE ";" " " CLMNIST_ONNX_MISSING "${CLMNIST_ONNX_MISSING}")
    message(WARNING "clmnist: ONNX export/import left out: apt-get install ${CLMNIST_ONNX_MISSING} "
                    "(or run scripts/bootstrap); -DCLMNIST_ONNX=OFF silences this")
  else()
    set(CLMNIST_WITH_ONNX ON)
  endif()
else()
  set(CLMNIST_ONNX_MISSING "protobuf-c-compiler libprotobuf-c-dev libonnx-dev")
  message(STATUS "clmnist: ONNX export/import off (CLMNIST_ONNX=OFF)")
endif()
