/* A tiny fake libnvidia-ml.so.1 for tests: two H100-like GPUs behind NVIDIA's own Python
 * binding, so the real ctypes path (symbol names, struct layouts, the memory v2 version
 * word, the two-call process protocol) is exercised without a GPU.
 *
 * Environment: FAKE_NVML_INIT=<code> makes init fail; FAKE_NVML_LOST_AFTER=<k> makes GPU 1
 * report GPU_IS_LOST after k utilisation reads; FAKE_NVML_PID=<pid> is the compute process
 * on GPU 0. Functions it lacks raise FunctionNotFound in the binding, like an old driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int index; int util_reads; } dev_t_;
static dev_t_ devs[2] = {{0, 0}, {1, 0}};
static int initialised = 0;

#define OK 0
#define NOT_SUPPORTED 3
#define INSUFFICIENT_SIZE 7
#define GPU_IS_LOST 15
#define UNINIT 1
#define VERSION_MISMATCH 25
#define GIB (1024ULL * 1024ULL * 1024ULL)

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v ? atoi(v) : fallback;
}

static int check(void *h) {
    dev_t_ *d = (dev_t_ *)h;
    if (!initialised) return UNINIT;
    int after = env_int("FAKE_NVML_LOST_AFTER", -1);
    if (d->index == 1 && after >= 0 && d->util_reads > after) return GPU_IS_LOST;
    return OK;
}

int nvmlInitWithFlags(unsigned flags) {
    (void)flags;
    int code = env_int("FAKE_NVML_INIT", 0);
    if (code) return code;
    initialised = 1;
    return OK;
}
int nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
int nvmlShutdown(void) { initialised = 0; return OK; }
const char *nvmlErrorString(int code) {
    switch (code) {
    case NOT_SUPPORTED: return "Not Supported";
    case GPU_IS_LOST: return "GPU is lost";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
    }
}
int nvmlDeviceGetCount_v2(unsigned *count) { *count = 2; return initialised ? OK : UNINIT; }
int nvmlSystemGetDriverVersion(char *buf, unsigned len) {
    snprintf(buf, len, "550.54.14");
    return OK;
}
int nvmlSystemGetCudaDriverVersion(int *v) { *v = 12040; return OK; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **h) {
    if (i > 1) return 2;
    *h = &devs[i];
    return OK;
}
int nvmlDeviceGetName(void *h, char *buf, unsigned len) {
    int rc = check(h);
    if (!rc) snprintf(buf, len, "NVIDIA H100 80GB HBM3");
    return rc;
}
int nvmlDeviceGetUUID(void *h, char *buf, unsigned len) {
    int rc = check(h);
    if (!rc) snprintf(buf, len, "GPU-fake-%d", ((dev_t_ *)h)->index);
    return rc;
}
int nvmlDeviceGetMigMode(void *h, unsigned *cur, unsigned *pend) {
    (void)h; (void)cur; (void)pend;
    return NOT_SUPPORTED;
}
typedef struct { unsigned gpu; unsigned memory; } util_t;
int nvmlDeviceGetUtilizationRates(void *h, util_t *u) {
    int rc = check(h);
    if (rc) return rc;
    dev_t_ *d = (dev_t_ *)h;
    d->util_reads++;
    rc = check(h);
    if (rc) return rc;
    u->gpu = 80 + d->index;
    u->memory = 40;
    return OK;
}
typedef struct { unsigned version; unsigned long long total, reserved, free, used; } mem2_t;
int nvmlDeviceGetMemoryInfo_v2(void *h, mem2_t *m) {
    int rc = check(h);
    if (rc) return rc;
    if (m->version != 0x02000028) return VERSION_MISMATCH;
    m->total = 80 * GIB;
    m->reserved = GIB / 2;
    m->used = (60 + ((dev_t_ *)h)->index) * GIB;
    m->free = m->total - m->reserved - m->used;
    return OK;
}
typedef struct { unsigned long long total, free, used; } mem1_t;
int nvmlDeviceGetMemoryInfo(void *h, mem1_t *m) {
    int rc = check(h);
    if (rc) return rc;
    m->total = 80 * GIB;
    m->used = (60 + ((dev_t_ *)h)->index) * GIB + GIB / 2; /* v1 counts reserved memory */
    m->free = m->total - m->used;
    return OK;
}
int nvmlDeviceGetTemperature(void *h, int sensor, unsigned *t) {
    (void)sensor;
    int rc = check(h);
    if (!rc) *t = 64 + ((dev_t_ *)h)->index;
    return rc;
}
int nvmlDeviceGetPowerUsage(void *h, unsigned *mw) {
    int rc = check(h);
    if (!rc) *mw = 612000;
    return rc;
}
int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned *mw) {
    int rc = check(h);
    if (!rc) *mw = 700000;
    return rc;
}
int nvmlDeviceGetClockInfo(void *h, int type, unsigned *mhz) {
    (void)type;
    int rc = check(h);
    if (!rc) *mhz = 1980;
    return rc;
}
int nvmlDeviceGetFanSpeed(void *h, unsigned *pct) {
    (void)h; (void)pct;
    return NOT_SUPPORTED; /* passively cooled */
}
int nvmlDeviceGetPerformanceState(void *h, int *p) {
    int rc = check(h);
    if (!rc) *p = 0;
    return rc;
}
int nvmlDeviceGetCurrentClocksEventReasons(void *h, unsigned long long *r) {
    int rc = check(h);
    if (!rc) *r = 0x4ULL | 0x1ULL; /* power cap (+ idle, which is not shown) */
    return rc;
}
int nvmlDeviceGetTotalEccErrors(void *h, int type, int counter, unsigned long long *n) {
    (void)type; (void)counter;
    int rc = check(h);
    if (rc) return rc;
    if (((dev_t_ *)h)->index == 1) return NOT_SUPPORTED;
    *n = 0;
    return OK;
}
typedef struct { unsigned pid; unsigned long long used; unsigned gi, ci; } proc_t_;
int nvmlDeviceGetComputeRunningProcesses_v3(void *h, unsigned *count, proc_t_ *infos) {
    int rc = check(h);
    if (rc) return rc;
    unsigned n = ((dev_t_ *)h)->index == 0 ? 1 : 0;
    if (n == 0) { *count = 0; return OK; }
    if (infos == NULL || *count < n) { *count = n; return INSUFFICIENT_SIZE; }
    infos[0].pid = (unsigned)env_int("FAKE_NVML_PID", 1);
    infos[0].used = 20 * GIB;
    infos[0].gi = 0xFFFFFFFF;
    infos[0].ci = 0xFFFFFFFF;
    *count = n;
    return OK;
}
