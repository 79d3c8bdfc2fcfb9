import 'reflect-metadata';
import { getMetadataStorage, IsString, MaxLength, MetadataStorage } from 'class-validator';
import { CreateTransactionDto, PostingDto } from '../transactions/transactions.dto.js';
import { CreateTransferDto } from '../transfers/transfers.dto.js';
import { ValidationFailed } from './problem.js';
import { validationPipe } from './validation.js';

const storage = getMetadataStorage();
/** class-validator's own lookup, which scans every class each time. */
const uncached = (target: object): unknown[] =>
  MetadataStorage.prototype.getTargetValidationMetadatas.call(storage, target as never, '', false, false, undefined);

async function refusal(metatype: object, body: unknown): Promise<string[]> {
  try {
    await validationPipe.transform(body, { type: 'body', metatype: metatype as never });
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    return error.errors.map((e) => e.field);
  }
  return [];
}

describe('cached validation metadata', () => {
  it('answers what class-validator works out, inherited rules included, and the same array again', () => {
    for (const dto of [CreateTransactionDto, PostingDto, CreateTransferDto]) {
      const first = storage.getTargetValidationMetadatas(dto, '', false, false, undefined);
      expect(first).toEqual(uncached(dto));
      expect(first.length).toBeGreaterThan(0);
      expect(storage.getTargetValidationMetadatas(dto, '', false, false, undefined)).toBe(first);
      expect(storage.groupByPropertyName(first)).toEqual(MetadataStorage.prototype.groupByPropertyName(first));
    }
    // `description` is declared on the parent class, MovementOptionsDto.
    const names = storage.getTargetValidationMetadatas(CreateTransactionDto, '', false, false, undefined);
    expect(names.map((m) => m.propertyName)).toEqual(expect.arrayContaining(['postings', 'description']));
  });

  it('keeps one answer per set of options', () => {
    const plain = storage.getTargetValidationMetadatas(PostingDto, '', false, false, undefined);
    const grouped = storage.getTargetValidationMetadatas(PostingDto, '', false, false, ['admin']);
    expect(grouped).not.toBe(plain);
    expect(grouped).toEqual(
      MetadataStorage.prototype.getTargetValidationMetadatas.call(storage, PostingDto, '', false, false, ['admin']),
    );
  });

  it('sees a class declared after others were looked up', async () => {
    class LateDto extends PostingDto {
      @IsString() @MaxLength(3) note: string;
    }
    expect(storage.getTargetValidationMetadatas(LateDto, '', false, false, undefined)).toEqual(uncached(LateDto));
    const posting = { accountId: crypto.randomUUID(), direction: 'debit', amount: '1', currency: 'USD' };
    expect(await refusal(LateDto, { ...posting, note: 'long' })).toEqual(['note']);
    expect(await refusal(LateDto, { ...posting, note: 'ok' })).toEqual([]);
  });

  it('validates as before: nested, inherited and unknown fields, on the second body as on the first', async () => {
    const id = (): string => crypto.randomUUID();
    const body = (description: string, amount: string): unknown => ({
      description,
      postings: [
        { accountId: id(), direction: 'debit', amount, currency: 'USD' },
        { accountId: id(), direction: 'credit', amount: '5', currency: 'USD', extra: 1 },
      ],
    });
    for (let i = 0; i < 2; i++) {
      expect(await refusal(CreateTransactionDto, body('x'.repeat(501), '0'))).toEqual(
        expect.arrayContaining(['description', 'postings.0.amount', 'postings.1.extra']),
      );
      expect(await refusal(CreateTransactionDto, body('ok', '5'))).toEqual(['postings.1.extra']);
    }
  });
});
