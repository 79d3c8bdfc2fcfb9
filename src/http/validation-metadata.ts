import { getMetadataStorage } from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;
type ValidationMetadata = ReturnType<Storage['getTargetValidationMetadatas']>[number];
type Grouped = ReturnType<Storage['groupByPropertyName']>;

const installed = new WeakSet<Storage>();

/**
 * Keeps class-validator's answer to "which rules does this class have", instead of working it out again for every
 * object validated. class-validator finds a class's inherited rules by testing every decorated class of the
 * application for being an ancestor, on every call (typestack/class-validator#2686): with all of this service's
 * DTOs loaded, that scan was the costliest single step of validating a body, paid once per nested object (five times
 * for a 4-posting transaction). A class's rules are all registered when its module loads (its ancestors' load
 * first), before any of its instances can be validated, so the answer for a class and set of options never changes
 * once asked. class-validator only reads these arrays (freezing them would say so, but V8 filters a frozen array
 * several times slower). Also keeps the grouping by property that class-validator makes of each array it kept.
 */
export function cacheValidationMetadata(storage: Storage = getMetadataStorage()): void {
  if (installed.has(storage)) return;
  installed.add(storage);
  const lookUp = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  const byClass = new WeakMap<object, Map<string, ValidationMetadata[]>>();
  const groupedByArray = new WeakMap<ValidationMetadata[], Grouped>();

  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    const options = `${typeof schema}:${schema}|${always}|${strictGroups}|${groups?.length ? JSON.stringify(groups) : ''}`;
    let kept = byClass.get(target);
    if (kept === undefined) byClass.set(target, (kept = new Map<string, ValidationMetadata[]>()));
    let metadata = kept.get(options);
    if (metadata === undefined) {
      metadata = lookUp(target, schema, always, strictGroups, groups);
      kept.set(options, metadata);
      groupedByArray.set(metadata, group(metadata));
    }
    return metadata;
  };
  storage.groupByPropertyName = (metadata) => groupedByArray.get(metadata) ?? group(metadata);
}
