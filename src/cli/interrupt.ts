// Ctrl-C for the commands. The library never handles signals or exits: it takes a stop request
// (an AbortSignal). This file turns SIGINT into that request and chooses the exit code. The handler
// stays installed for the whole command, so a Ctrl-C that lands between two steps, during
// validation or between two heads is never lost.
//   - Before a command has started work that can stop cleanly (e.g. while decoding data), there is
//     nothing to save: Ctrl-C exits at once with code 130.
//   - Afterwards the first Ctrl-C asks the work to finish its current step and save; the command
//     then writes what it has and exits with 130. A second Ctrl-C exits at once.

/** What a shell reports for a program ended by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export class CommandInterrupt {
  private controller = new AbortController();
  private stoppable = false;
  private standingAside = false;
  private command = 'deepmetric';
  private readonly onSigint = (): void => this.handle();

  /** Aborted at the first Ctrl-C; pass it to train(), trainAutoencoder() and other stoppable work. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  /** Installs the SIGINT handler for one command; returns the function that removes it. */
  install(command: string): () => void {
    this.controller = new AbortController();
    this.stoppable = false;
    this.standingAside = false;
    this.command = command;
    process.on('SIGINT', this.onSigint);
    return () => process.removeListener('SIGINT', this.onSigint);
  }

  /** From here to the end of the command, the first Ctrl-C is a stop request rather than an exit. */
  beginStoppableWork(): void {
    this.stoppable = true;
  }

  /** The command handles SIGINT itself (e.g. serve closes gracefully and exits 0): this handler stands aside. */
  standAside(): void {
    this.standingAside = true;
  }

  private handle(): void {
    if (this.standingAside) return;
    if (!this.stoppable) {
      process.stderr.write(`\n${this.command}: interrupted before training started; nothing to save\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    if (this.controller.signal.aborted) {
      process.stderr.write(`\n${this.command}: second interrupt — exiting without saving\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    // Data-parallel ranks other than 0 stop silently: rank 0 (or the launcher) says it once.
    const quiet = process.env.RANK !== undefined && process.env.RANK !== '0';
    if (!quiet) process.stderr.write(`\n${this.command}: interrupt received — finishing this step and saving a checkpoint (Ctrl-C again to abort)\n`);
    this.controller.abort();
  }
}

/** The one instance the commands share: main installs it, commands read its signal. */
export const commandInterrupt = new CommandInterrupt();
