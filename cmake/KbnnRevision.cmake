# cmake -DSOURCE_DIR=... -DOUTPUT=... -P KbnnRevision.cmake
# Writes OUTPUT, one line `#define KBNN_GIT_REVISION "<revision>"`: the short hash of
# SOURCE_DIR's checkout, "-dirty" appended when tracked files have uncommitted changes,
# or "unknown" where SOURCE_DIR is not the top of a git checkout (a release tarball,
# even one unpacked inside another repository). Run at every build (the kbnn_revision
# target): a pull followed by `cmake --build` records the new revision, not the last
# configure's. The file is rewritten only when its text changes, so a build that moves
# no revision recompiles nothing.
set(revision unknown)
execute_process(COMMAND git rev-parse --show-toplevel WORKING_DIRECTORY "${SOURCE_DIR}"
                OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE result)
if(result EQUAL 0 AND top)
  get_filename_component(top "${top}" REALPATH)
  get_filename_component(source "${SOURCE_DIR}" REALPATH)
  if(top STREQUAL source)
    execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                    OUTPUT_VARIABLE hash OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                    RESULT_VARIABLE result)
    if(result EQUAL 0 AND hash)
      execute_process(COMMAND git status --porcelain --untracked-files=no
                      WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE changes ERROR_QUIET)
      set(revision "${hash}")
      if(changes)
        string(APPEND revision "-dirty")
      endif()
    endif()
  endif()
endif()

set(text "// Written at build time by cmake/KbnnRevision.cmake.\n#define KBNN_GIT_REVISION \"${revision}\"\n")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
