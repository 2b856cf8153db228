/** Entry point of the `flip` executable. */
import { handleClosedOutput } from './closed-output.js';
import { main } from './main.js';

handleClosedOutput(() => (typeof process.exitCode === 'number' ? process.exitCode : 0));
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
