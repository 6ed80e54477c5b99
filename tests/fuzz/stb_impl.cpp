// Debian's stb_image and stb_image_resize, compiled into the fuzz targets with coverage and
// the sanitizers (libstb.so is not instrumented). Same headers, same version.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
