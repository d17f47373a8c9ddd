import { SlipwayError } from '../errors.js';

/** `<UTC yyyymmddHHMMSS>-<deployment id>`: sorts by time, and names the deployment it came from. */
const RELEASE_NAME = /^[0-9]{14}-[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export function formatReleaseName(startedAt: Date, deploymentId: string): string {
  const stamp = startedAt.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return validateReleaseName(`${stamp}-${deploymentId}`);
}

export function isReleaseName(name: string): boolean {
  return RELEASE_NAME.test(name) && !name.includes('..');
}

export function validateReleaseName(name: string): string {
  if (!isReleaseName(name)) {
    throw new SlipwayError(
      'invalid_input',
      `Release name ${JSON.stringify(name)} is not of the form <yyyymmddHHMMSS>-<id> (letters, digits, "_", "-", ".").`,
      { releaseName: name },
    );
  }
  return name;
}
