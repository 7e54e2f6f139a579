#ifndef USHER_CLIBJWT_SHIM_H
#define USHER_CLIBJWT_SHIM_H
#include <jwt.h>
#endif
