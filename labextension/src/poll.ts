/**
 * A bounded poll loop: `tick` runs every `intervalMs` (never two at once) until it
 * answers false, `stop()` is called, or `maxTicks` ran, so no loop outlives its use.
 */
export class Poller {
  private timer: number | null = null;
  private ticks = 0;
  private active = false;

  constructor(
    private readonly tick: () => Promise<boolean>,
    private readonly intervalMs = 1000,
    private readonly maxTicks = 3600
  ) {}

  get running(): boolean {
    return this.active;
  }

  start(): void {
    if (this.active) {
      return;
    }
    this.active = true;
    this.ticks = 0;
    this.schedule();
  }

  stop(): void {
    this.active = false;
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private schedule(): void {
    this.timer = window.setTimeout(async () => {
      this.timer = null;
      if (!this.active) {
        return;
      }
      let again = false;
      try {
        again = await this.tick();
      } catch {
        again = false; // the tick shows its own error; a failing poll stops
      }
      if (again && this.active && ++this.ticks < this.maxTicks) {
        this.schedule();
      } else {
        this.active = false;
      }
    }, this.intervalMs);
  }
}
