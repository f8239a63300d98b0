import { useId } from 'react';
import { type Identity, isHexColor, MAX_NAME_LENGTH } from '../workspace/identity.ts';

interface Props {
  identity: Identity;
  onChange(next: Identity): void;
}

/** The name and colour collaborators see on this person's cursor. */
export function IdentityEditor({ identity, onChange }: Props) {
  const nameId = useId();
  return (
    <div className="identity">
      <label htmlFor={nameId} className="identity-label">
        You appear as
      </label>
      <div className="identity-fields">
        <input
          type="color"
          className="identity-color"
          data-testid="display-color"
          aria-label="Your colour"
          value={identity.color}
          onChange={(event) => {
            if (isHexColor(event.target.value))
              onChange({ ...identity, color: event.target.value });
          }}
        />
        <input
          id={nameId}
          className="identity-name"
          data-testid="display-name"
          maxLength={MAX_NAME_LENGTH}
          placeholder="Anonymous"
          value={identity.name}
          onChange={(event) => onChange({ ...identity, name: event.target.value })}
        />
      </div>
    </div>
  );
}
