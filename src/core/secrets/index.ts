export { SecretBox } from './secret-box.js';
export { loadSecretBox } from './secret-key.js';
export { SECRET_PURPOSE } from './secret-purposes.js';
