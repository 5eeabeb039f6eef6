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
