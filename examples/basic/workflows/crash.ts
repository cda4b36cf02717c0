// Workflows for the crash tests (tests/reliability/crash.test.mjs): steps that take long
// enough for a process to be killed in the middle of one.

async function slow(i: number, ms: number) {
  'use step';
  await new Promise((resolve) => setTimeout(resolve, ms));
  return i;
}

/** `n` sequential steps of `ms` each; returns 1 + 2 + … + n. */
export async function slowSteps(n: number, ms: number) {
  'use workflow';
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += await slow(i, ms);
  return sum;
}
