/** Namespace runner for labs/<name>/topology.clab.yml. (Filled in by the lab work.) */
export async function labUp(dir: string): Promise<void> {
  throw new Error(`lab runner not written yet (${dir})`);
}
export async function labDown(dir: string): Promise<void> {
  throw new Error(`lab runner not written yet (${dir})`);
}
/** Returns true when every assertion of the lab holds. */
export async function labTest(dir: string): Promise<boolean> {
  throw new Error(`lab runner not written yet (${dir})`);
}
