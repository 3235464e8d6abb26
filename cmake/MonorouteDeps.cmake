# Finds every third-party dependency once, so subdirectories only link imported targets.
find_package(Threads REQUIRED)
find_package(absl REQUIRED)
find_package(Torch REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

# Torch's imported target adds -D_GLIBCXX_USE_CXX11_ABI matching the library; keep ours consistent.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")

if(MONOROUTE_WITH_SERVICES)
  find_package(Protobuf REQUIRED)
  find_package(gRPC CONFIG REQUIRED)
  find_package(RocksDB CONFIG REQUIRED)
  find_package(prometheus-cpp CONFIG REQUIRED)
  find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
  pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)  # analysis report rendering
endif()

# Adds a GoogleTest executable `name` from `sources`, linked to `libs`, registered with CTest.
# Tests get the label `labels` (e.g. "slow") when given.
function(monoroute_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${MONOROUTE_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE
    MONOROUTE_SOURCE_DIR="${MONOROUTE_SOURCE_DIR}"
    MONOROUTE_TOKENIZER_DIR="${MONOROUTE_TOKENIZER_DIR}"
    MONOROUTE_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(T_LABELS)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
