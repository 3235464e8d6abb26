# `cmake --install <build> --prefix P`: the binaries in P/bin and their read-only data under
# P/share/monoroute (gpt2/ vocabulary, lexicon/, lexicon_pos/, examples/ job specs, proto/), where
# the binaries look for it relative to themselves (common/base/data_dirs.h:
# <exe>/../share/monoroute/<name>). The libraries are static; LibTorch and the other shared
# libraries are the system's.
include(GNUInstallDirs)
set(MONOROUTE_INSTALL_DATADIR share/monoroute)

foreach(target monoroute monoroute-recorder monoroute-recorder-bench monoroute-analysis
    monoroute-trainer)
  if(TARGET ${target})
    install(TARGETS ${target} RUNTIME DESTINATION bin)
  endif()
endforeach()

install(DIRECTORY ${MONOROUTE_TOKENIZER_DIR}/ DESTINATION ${MONOROUTE_INSTALL_DATADIR}/gpt2
  FILES_MATCHING PATTERN "vocab.json" PATTERN "merges.txt" PATTERN "LICENSE")
install(DIRECTORY ${MONOROUTE_SOURCE_DIR}/data/lexicon/
  DESTINATION ${MONOROUTE_INSTALL_DATADIR}/lexicon)
install(DIRECTORY ${MONOROUTE_SOURCE_DIR}/data/lexicon_pos/
  DESTINATION ${MONOROUTE_INSTALL_DATADIR}/lexicon_pos)
install(DIRECTORY ${MONOROUTE_SOURCE_DIR}/examples/
  DESTINATION ${MONOROUTE_INSTALL_DATADIR}/examples)
install(DIRECTORY ${MONOROUTE_SOURCE_DIR}/proto/
  DESTINATION ${MONOROUTE_INSTALL_DATADIR}/proto FILES_MATCHING PATTERN "*.proto")

# The Python client as a wheel: P/share/monoroute/python/monoroute_client-<v>-py3-none-any.whl
# (`pip install` it into any venv whose Python has grpcio / protobuf / numpy). Built at install
# time by the client's standard-library build backend (clients/python/monoroute_build.py: no
# setuptools, no `wheel` package) from this tree's proto/; needs python3 and protoc +
# grpc_python_plugin (or grpcio-tools). Component `python`
# (`cmake --install build --component python` installs only the wheel).
find_program(MONOROUTE_INSTALL_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(MONOROUTE_INSTALL_PYTHON3)
  install(CODE "
    set(_dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${MONOROUTE_INSTALL_DATADIR}/python\")
    file(MAKE_DIRECTORY \"\${_dest}\")
    execute_process(
      COMMAND \"${CMAKE_COMMAND}\" -E env \"MONOROUTE_PROTO_DIR=${MONOROUTE_SOURCE_DIR}/proto\"
              \"${MONOROUTE_INSTALL_PYTHON3}\"
              \"${MONOROUTE_SOURCE_DIR}/clients/python/monoroute_build.py\" wheel \"\${_dest}\"
      RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
      OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR \"building the monoroute-client wheel failed: \${_err}\")
    endif()
    message(STATUS \"Installing: \${_out}\")
  " COMPONENT python)
endif()
