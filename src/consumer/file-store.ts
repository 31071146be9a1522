import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { assertForward, validateCheckpoint, type Checkpoint, type CheckpointStore } from "./store.js";

/** Test hook: called between the durable temp write and the rename (a crash injected there must be survived). */
export type BeforeRenameHook = (tempPath: string, finalPath: string) => Promise<void> | void;

function fileName(stream: string, app: string): string {
  return `${encodeURIComponent(stream)}__${encodeURIComponent(app)}.json`;
}

/**
 * Keeps one JSON file per (stream, app) in a directory: written to a temp file, fsynced, renamed over
 * the old one, and the directory fsynced, so a crash (even kill -9) at any point leaves the previous or
 * the new checkpoint intact, never a torn one. Writes for one key are serialised in this process.
 */
export class FileCheckpointStore implements CheckpointStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  private seq = 0;

  /** Creates a store in `dir` (made if missing). */
  constructor(
    readonly dir: string,
    private readonly hooks: { beforeRename?: BeforeRenameHook } = {},
  ) {}

  /** @inheritdoc */
  async get(stream: string, app: string): Promise<Checkpoint | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, fileName(stream, app)), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    const cp = JSON.parse(text) as Checkpoint;
    validateCheckpoint(cp);
    return cp;
  }

  /** @inheritdoc */
  put(stream: string, app: string, checkpoint: Checkpoint): Promise<void> {
    const key = fileName(stream, app);
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => this.write(stream, app, checkpoint));
    this.queues.set(key, next);
    void next
      .finally(() => {
        if (this.queues.get(key) === next) this.queues.delete(key);
      })
      .catch(() => {});
    return next;
  }

  private async write(stream: string, app: string, checkpoint: Checkpoint): Promise<void> {
    validateCheckpoint(checkpoint);
    await mkdir(this.dir, { recursive: true });
    assertForward(await this.get(stream, app), checkpoint, `${stream}/${app}`);
    const finalPath = join(this.dir, fileName(stream, app));
    const tempPath = `${finalPath}.${process.pid}.${++this.seq}.tmp`;
    const fh = await open(tempPath, "w");
    try {
      await fh.writeFile(
        JSON.stringify({ fragmentNumber: checkpoint.fragmentNumber, continuationToken: checkpoint.continuationToken, updatedAt: checkpoint.updatedAt }),
      );
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await this.hooks.beforeRename?.(tempPath, finalPath);
      await rename(tempPath, finalPath);
    } catch (e) {
      await unlink(tempPath).catch(() => {});
      throw e;
    }
    const dirHandle = await open(this.dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}
