import { runRedriveCli } from './redrive-cli';

/** `npm run redrive -- --help`: replays dead letters through the deployed function or locally. */
runRedriveCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => console.log(text),
  err: (text) => console.error(text),
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
