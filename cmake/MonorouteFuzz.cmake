# The fuzzing build (-DMONOROUTE_FUZZ=ON, docs/fuzzing.md): clang with libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer; only the parser libraries and the targets in
# tests/fuzz are built (no gRPC, RocksDB or model code). Included by the top-level CMakeLists.txt,
# which stops after it. LibTorch is found for the tensor readers only (it is not instrumented:
# ASan still checks every access our code makes and every allocation LibTorch makes).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MONOROUTE_FUZZ=ON needs clang (libFuzzer); configure with "
                      "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz.sh does)")
endif()

find_package(Threads REQUIRED)
find_package(absl REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
find_package(Torch REQUIRED)
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")

set(MONOROUTE_TOKENIZER_DIR "${CMAKE_SOURCE_DIR}/third_party/gpt2" CACHE PATH "Default GPT-2 tokenizer directory")
set(MONOROUTE_SOURCE_DIR "${CMAKE_SOURCE_DIR}")

# Every translation unit is instrumented for coverage and the sanitizers; a UBSan finding aborts
# (a crash for libFuzzer) instead of printing and going on.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)

enable_testing()
add_subdirectory(common/base)
add_subdirectory(common/tokenizer)
add_subdirectory(common/corpus)
add_subdirectory(common/tensor_io)
add_subdirectory(tests/fuzz)
