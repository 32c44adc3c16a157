/**
 * Builds a value on first use and keeps it for the instance's lifetime. A build that throws, or
 * whose promise rejects, is not kept: the next use tries again.
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    if (built) return built.value;
    const value = build();
    const current = { value };
    built = current;
    if (value instanceof Promise) {
      value.catch(() => {
        if (built === current) built = undefined;
      });
    }
    return value;
  };
}
