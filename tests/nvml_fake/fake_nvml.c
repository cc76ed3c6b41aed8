/* fake_nvml.c -- a stand-in for libnvidia-ml.so.1 (tests only): the few NVML calls anethru makes.
 *
 * Every reading moves, so a test can tell start from end: the SM clock starts at
 * FAKE_NVML_SM_CLOCK (default 1980 MHz) and drops by FAKE_NVML_SM_STEP (default 100) per reading;
 * the temperature starts at 40 C and rises 10 C per reading.  FAKE_NVML_INIT_FAIL=1 makes
 * nvmlInit fail.  Device names say how the device was found ("Fake GPU 3", "Fake GPU by uuid").
 * fake_nvml_reset() starts the readings over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
typedef void *nvmlDevice_t;

static int clock_reads, temp_reads;

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

/* Tests call this between cases: the library stays loaded in the process. */
EXPORT void fake_nvml_reset(void) { clock_reads = temp_reads = 0; }

EXPORT int nvmlInit_v2(void) { return env_int("FAKE_NVML_INIT_FAIL", 0) ? 1 : 0; }
EXPORT int nvmlShutdown(void) { return 0; }

EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t *device)
{
    if (index > 7) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = (nvmlDevice_t)(size_t)(index + 1);
    return 0;
}

EXPORT int nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    if (strcmp(uuid, "GPU-fake-uuid") != 0) return 6; /* NVML_ERROR_NOT_FOUND */
    *device = (nvmlDevice_t)(size_t)100;
    return 0;
}

EXPORT int nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned length)
{
    size_t id = (size_t)device;
    if (id == 100) snprintf(name, length, "Fake GPU by uuid");
    else snprintf(name, length, "Fake GPU %zu", id - 1);
    return 0;
}

EXPORT int nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned *mhz)
{
    (void)device;
    if (type != 1) return 2; /* only NVML_CLOCK_SM */
    *mhz = (unsigned)(env_int("FAKE_NVML_SM_CLOCK", 1980) - env_int("FAKE_NVML_SM_STEP", 100) * clock_reads++);
    return 0;
}

EXPORT int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned *celsius)
{
    (void)device;
    if (sensor != 0) return 2; /* only NVML_TEMPERATURE_GPU */
    *celsius = (unsigned)(40 + 10 * temp_reads++);
    return 0;
}
