/* cl_check.h: checks of a machine's OpenCL installation for `clmnist doctor` (cl_check.c): the
 * ICD files the loader reads and whether the embedded kernels build on a device. */
#ifndef CLMNIST_CL_CHECK_H
#define CLMNIST_CL_CHECK_H
#include <stddef.h>

#include "cl_util.h"
#include "kernels_embedded.h"

#define CL_ICD_DEFAULT_DIR "/etc/OpenCL/vendors"

/* The ICD files the OpenCL loader (ocl-icd) reads: $OCL_ICD_VENDORS when set (a folder, or one
 * .icd file), else /etc/OpenCL/vendors. `where` gets that place (and which of the two it is);
 * names[i] gets "file.icd (library)" for up to max files. Returns the number of files, or -1 when
 * the folder cannot be read. */
int cl_icd_files(char *where, size_t where_size, char (*names)[300], int max);

/* The number of OpenCL platforms the loader finds (0 when it finds none). */
cm_status cl_platform_count(unsigned *count);

/* Builds sources[0..count) (sources[0] the common helpers) as the device backend does, as one
 * program, on device d in a context of its own, then creates every kernel the backend uses
 * (unless `kernels` is NULL: a caller's own sources). On a build failure, builds each source
 * with sources[0] alone to name the file at fault; the error names it and the device, and *log
 * (malloc'd, or NULL) gets its build log. *created gets the number of kernels created. */
cm_status cl_check_program(const cl_device_desc *d, const cm_kernel_source *sources, size_t count,
                           const char *const *kernels, int nkernels, int *created, char **log);

/* cl_check_program with the embedded kernels and every kernel the device backend creates. */
cm_status cl_check_kernels(const cl_device_desc *d, int *created, char **log);

#endif
