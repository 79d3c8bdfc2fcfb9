import { BodyBudget, bodyBytes } from './body-budget.js';

describe('BodyBudget', () => {
  it('lets bodies in while they fit, refuses the one that does not, and takes it once others are given back', () => {
    const budget = new BodyBudget(100);
    expect(budget.take(60)).toBe(true);
    expect(budget.take(40)).toBe(true);
    expect(budget.take(1)).toBe(false);
    expect(budget.inUse).toBe(100);
    budget.give(60);
    expect(budget.take(50)).toBe(true);
    expect(budget.inUse).toBe(90);
  });
});

describe('bodyBytes', () => {
  it('counts the declared length, the limit for chunked or oversized bodies, and nothing without a body', () => {
    expect(bodyBytes({ 'content-length': '512' }, 1024)).toBe(512);
    expect(bodyBytes({ 'content-length': '5000' }, 1024)).toBe(1024);
    expect(bodyBytes({ 'transfer-encoding': 'chunked' }, 1024)).toBe(1024);
    expect(bodyBytes({ 'content-length': '-1', 'transfer-encoding': 'chunked' }, 1024)).toBe(1024);
    expect(bodyBytes({}, 1024)).toBe(0);
  });
});
