# cmake -DSOURCE=… -DDESTINATION=… -DMESSAGE=… -P copy_data.cmake
# Copies SOURCE to DESTINATION when it differs; fails with MESSAGE when SOURCE is missing.
if(NOT EXISTS "${SOURCE}")
  message(FATAL_ERROR "${MESSAGE}")
endif()
file(COPY_FILE "${SOURCE}" "${DESTINATION}" ONLY_IF_DIFFERENT)
