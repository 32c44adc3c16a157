# Each function's V8 heap cap (NODE_OPTIONS --max-old-space-size). Node sizes its default heap
# from the machine or allows one about as large as a container's whole limit, so without a cap
# V8 lets garbage pile up until the instance runs out of memory (bench/README.md, Memory).
#
# The worker's cap follows worker_memory: the memory minus a reserve for what lives outside the
# old space. Measured by the bench at worker_concurrency 20 (bench/README.md, Memory): up to
# 94 MiB of code and native memory (RSS minus V8's heap), up to 48 MiB of young generation; the
# rest of the 320 MiB is headroom for media chunks in flight, large replies and spikes. At 512Mi
# the cap is 192 MB: the worker peaked at 189-191 MiB there, and even a full old space stays
# near 334 MiB. worker_heap_mb overrides it.
locals {
  worker_memory_mib    = tonumber(regex("^[0-9]+", var.worker_memory)) * (endswith(var.worker_memory, "Gi") ? 1024 : 1)
  worker_heap_reserve  = 320
  worker_heap_mb       = var.worker_heap_mb != null ? var.worker_heap_mb : local.worker_memory_mib - local.worker_heap_reserve
  webhook_node_options = "--max-old-space-size=${var.webhook_heap_mb}"
  worker_node_options  = "--max-old-space-size=${local.worker_heap_mb}"
}
