# `cmake --install <build> --prefix P`: the binaries in P/bin and their read-only data under
# P/share/monoroute (gpt2/ vocabulary, lexicon/, lexicon_pos/, examples/ job specs, proto/), where
# the binaries look for it relative to themselves (common/base/data_dirs.h:
# <exe>/../share/monoroute/<name>). The libraries are static; LibTorch and the other shared
# libraries are the system's.
include(GNUInstallDirs)
set(MONOROUTE_INSTALL_DATADIR share/monoroute)

foreach(target monoroute monoroute-recorder monoroute-analysis monoroute-trainer)
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
