/** The one note a workspace starts with — written only by the device that creates the workspace. */
export const WELCOME_TITLE = 'Welcome to Lattice';

export const WELCOME_BODY = `Lattice keeps your notes on this device first, then syncs them.

- **Works offline.** Everything you write is saved here at once, even without a connection.
- **Syncs when it can.** The badge at the top says whether your changes are on the relay yet.
- **Write together.** Copy the link of this workspace and open it on another device or send it to a friend: you will see each other's cursors.
- **Markdown.** Use \`#\` for headings, \`-\` for lists, \`**bold**\` and \`_italic_\`.

Notes you delete go to the trash, where you can restore them.

Edit or delete this note whenever you like.
`;
