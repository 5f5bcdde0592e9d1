/** The opening every workload shares: L1 sets up each vCPU's bitmap before L2 runs there. */
import { l1, type Prefixes, type Rows } from "./rows.js";
import type { RowSource } from "./workload.js";

/**
 * For each vCPU: `bitmap-ptr` to its page, `use-bitmap,1`, `vmentry`; each
 * page is loaded (`bitmap-load`) by the first vCPU that uses it, just before.
 */
export function setUpVcpus(out: Rows, P: Prefixes, vcpus: number, pageOf: (v: number) => number, file: string): void {
  const loaded = new Set<number>();
  for (let v = 0; v < vcpus; v++) {
    const page = pageOf(v);
    if (!loaded.has(page)) {
      out.add(l1.load(v, page, file), "");
      loaded.add(page);
    }
    out.add(l1.ptr(v, page), "");
    out.add(l1.use(v, 1), "");
    out.add(P.entry[v] as string, "");
  }
}

/** A row source whose first burst is the opening (`setUp`) and every later one `burst`. */
export function afterSetUp(setUp: (out: Rows) => void, burst: (out: Rows) => void): RowSource {
  let started = false;
  return {
    burst(out: Rows): void {
      if (started) burst(out);
      else {
        started = true;
        setUp(out);
      }
    },
  };
}
