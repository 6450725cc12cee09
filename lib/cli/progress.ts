/**
 * A progress line for steps that take seconds: a spinner with the elapsed time on a terminal,
 * one line per step otherwise (CI logs, pipes).
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  step(label: string): void;
  done(message: string): void;
  fail(): void;
}

export function progress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  let label = '';
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const clear = () => stream.isTTY && stream.write('\r\x1b[2K');
  const draw = () => {
    clear();
    stream.write(`${FRAMES[frame++ % FRAMES.length]} ${label} (${elapsed()})`);
  };
  return {
    step(next) {
      label = next;
      if (!stream.isTTY) {
        stream.write(`${next}…\n`);
        return;
      }
      timer ??= setInterval(draw, 100);
      draw();
    },
    done(message) {
      clearInterval(timer);
      clear();
      stream.write(`✓ ${message} in ${elapsed()}\n`);
    },
    fail() {
      clearInterval(timer);
      clear();
    },
  };
}
