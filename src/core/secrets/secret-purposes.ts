/** Associated data for SecretBox: a sealed value only opens for the column it was written to. */
export const SECRET_PURPOSE = {
  projectSshKey: 'project.ssh_private_key',
  projectEnvironmentFile: 'project.environment_file',
  channelTarget: 'notification_channel.target',
  channelSecret: 'notification_channel.secret',
  pipelineSigningSecret: 'pipeline.signing_secret',
} as const;
