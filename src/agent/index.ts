export interface AgentOptions {
  configPath: string;
}

/** Runs the daemon until SIGTERM/SIGINT. (Filled in by the composition root work.) */
export async function runAgent(opts: AgentOptions): Promise<void> {
  throw new Error(`agent not wired yet (${opts.configPath})`);
}
