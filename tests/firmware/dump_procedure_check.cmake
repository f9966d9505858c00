# docs/firmware.md's dump procedure and the harness that tests it (firmware_rt_dump) must not
# drift apart: the page names the three QEMU monitor commands and the hrctl command, and
# run_firmware.py sends those same commands. Run: cmake -DROOT=<source tree> -P this file.
file(READ ${ROOT}/docs/firmware.md doc)
file(READ ${ROOT}/tests/firmware/run_firmware.py harness)
set(problems "")
foreach(s "`stop`, `pmemsave 0xADDR LENGTH \"dump.bin\"`, `cont`" "hrctl check --image dump.bin"
          "hotrestart_(record_start|bank_end)")
  string(FIND "${doc}" "${s}" at)
  if(at EQUAL -1)
    list(APPEND problems "docs/firmware.md does not say: ${s}")
  endif()
endforeach()
foreach(s "(\"stop\", 'pmemsave 0x%x %d \"%s\"'" "\"cont\")" "hrctl_views(args, args.dump_retained")
  string(FIND "${harness}" "${s}" at)
  if(at EQUAL -1)
    list(APPEND problems "run_firmware.py does not send: ${s}")
  endif()
endforeach()
if(problems)
  string(REPLACE ";" "\n  " text "${problems}")
  message(FATAL_ERROR "the dump procedure and its test differ:\n  ${text}")
endif()
message(STATUS "the documented dump procedure is the tested one")
