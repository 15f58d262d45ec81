#ifndef OC_VERSION_H
#define OC_VERSION_H
#define OC_VERSION "0.1.0"
#endif
